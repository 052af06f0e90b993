-- Phial migration
-- revision: 0004
-- down_revision: 0003
-- message: the contact page's messages
-- The tutorial's practice task: messages sent through /contact, in a table
-- of their own (the tutorial's tables are untouched).

-- upgrade: sqlite
CREATE TABLE contact (
	id INTEGER NOT NULL,
	name VARCHAR(100) NOT NULL,
	email VARCHAR(120) NOT NULL,
	message VARCHAR(2000) NOT NULL,
	PRIMARY KEY (id)
);
-- downgrade: sqlite
DROP TABLE contact;

-- upgrade: postgresql
CREATE TABLE contact (
	id SERIAL NOT NULL,
	name VARCHAR(100) NOT NULL,
	email VARCHAR(120) NOT NULL,
	message VARCHAR(2000) NOT NULL,
	PRIMARY KEY (id)
);
-- downgrade: postgresql
DROP TABLE contact;

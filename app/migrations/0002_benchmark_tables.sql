-- Phial migration
-- revision: 0002
-- down_revision: 0001
-- message: the Flask peer's benchmark tables (world, fortune)
-- The TechEmpower tables the Flask peer also declares.  IF NOT EXISTS: a
-- database made by the Flask peer already has them, one made from the
-- tutorial alone does not; both are adopted at 0001.

-- upgrade: sqlite
CREATE TABLE IF NOT EXISTS world (
	id INTEGER NOT NULL,
	randomnumber INTEGER NOT NULL,
	PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS fortune (
	id INTEGER NOT NULL,
	message VARCHAR(2048) NOT NULL,
	PRIMARY KEY (id)
);
-- downgrade: sqlite
DROP TABLE fortune;
DROP TABLE world;

-- upgrade: postgresql
CREATE TABLE IF NOT EXISTS world (
	id SERIAL NOT NULL,
	randomnumber INTEGER NOT NULL,
	PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS fortune (
	id SERIAL NOT NULL,
	message VARCHAR(2048) NOT NULL,
	PRIMARY KEY (id)
);
-- downgrade: postgresql
DROP TABLE fortune;
DROP TABLE world;

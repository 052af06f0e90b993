-- Phial migration
-- revision: 0001
-- down_revision: base
-- message: the tutorial's tables
-- The tables of "Flask Database Integration with SQLAlchemy", exactly as
-- Flask-SQLAlchemy creates them: a registration.db made by the Flask version
-- is adopted with `app db stamp 0001`, then brought up to date with
-- `app db upgrade`.

-- upgrade: sqlite
CREATE TABLE user (
	id INTEGER NOT NULL,
	username VARCHAR(100) NOT NULL,
	user_email VARCHAR(100) NOT NULL,
	user_password VARCHAR(150) NOT NULL,
	PRIMARY KEY (id)
);
CREATE TABLE pethandler (
	handler_id INTEGER NOT NULL,
	handler_name VARCHAR(150) NOT NULL,
	PRIMARY KEY (handler_id)
);
CREATE TABLE petcategory (
	pet_id INTEGER NOT NULL,
	pet_name VARCHAR(100) NOT NULL,
	pet_category VARCHAR(50) NOT NULL,
	handler_id INTEGER NOT NULL,
	PRIMARY KEY (pet_id),
	FOREIGN KEY(handler_id) REFERENCES pethandler (handler_id)
);
CREATE TABLE petcomment (
	comment_id INTEGER NOT NULL,
	comment_content VARCHAR(200) NOT NULL,
	pet_id INTEGER NOT NULL,
	PRIMARY KEY (comment_id),
	FOREIGN KEY(pet_id) REFERENCES petcategory (pet_id)
);
-- downgrade: sqlite
DROP TABLE petcomment;
DROP TABLE petcategory;
DROP TABLE pethandler;
DROP TABLE "user";

-- upgrade: postgresql
CREATE TABLE "user" (
	id SERIAL NOT NULL,
	username VARCHAR(100) NOT NULL,
	user_email VARCHAR(100) NOT NULL,
	user_password VARCHAR(150) NOT NULL,
	PRIMARY KEY (id)
);
CREATE TABLE pethandler (
	handler_id SERIAL NOT NULL,
	handler_name VARCHAR(150) NOT NULL,
	PRIMARY KEY (handler_id)
);
CREATE TABLE petcategory (
	pet_id SERIAL NOT NULL,
	pet_name VARCHAR(100) NOT NULL,
	pet_category VARCHAR(50) NOT NULL,
	handler_id INTEGER NOT NULL,
	PRIMARY KEY (pet_id),
	FOREIGN KEY(handler_id) REFERENCES pethandler (handler_id)
);
CREATE TABLE petcomment (
	comment_id SERIAL NOT NULL,
	comment_content VARCHAR(200) NOT NULL,
	pet_id INTEGER NOT NULL,
	PRIMARY KEY (comment_id),
	FOREIGN KEY(pet_id) REFERENCES petcategory (pet_id)
);
-- downgrade: postgresql
DROP TABLE petcomment;
DROP TABLE petcategory;
DROP TABLE pethandler;
DROP TABLE "user";

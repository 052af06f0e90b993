-- Phial migration
-- revision: 0003
-- down_revision: 0002
-- message: Phial's additions: handler profiles, tags, pets' tags
-- What Phial's pet management system adds to the tutorial: a one-to-one
-- handler profile and many-to-many tags.

-- upgrade: sqlite
CREATE TABLE handlerprofile (
	profile_id INTEGER NOT NULL,
	handler_id INTEGER NOT NULL,
	bio VARCHAR(500),
	phone VARCHAR(30),
	PRIMARY KEY (profile_id),
	UNIQUE (handler_id),
	FOREIGN KEY(handler_id) REFERENCES pethandler (handler_id)
);
CREATE TABLE tag (
	tag_id INTEGER NOT NULL,
	tag_name VARCHAR(50) NOT NULL,
	PRIMARY KEY (tag_id),
	UNIQUE (tag_name)
);
CREATE TABLE pet_tag (
	pet_id INTEGER NOT NULL,
	tag_id INTEGER NOT NULL,
	PRIMARY KEY (pet_id, tag_id),
	FOREIGN KEY(pet_id) REFERENCES petcategory (pet_id),
	FOREIGN KEY(tag_id) REFERENCES tag (tag_id)
);
-- downgrade: sqlite
DROP TABLE pet_tag;
DROP TABLE tag;
DROP TABLE handlerprofile;

-- upgrade: postgresql
CREATE TABLE handlerprofile (
	profile_id SERIAL NOT NULL,
	handler_id INTEGER NOT NULL,
	bio VARCHAR(500),
	phone VARCHAR(30),
	PRIMARY KEY (profile_id),
	UNIQUE (handler_id),
	FOREIGN KEY(handler_id) REFERENCES pethandler (handler_id)
);
CREATE TABLE tag (
	tag_id SERIAL NOT NULL,
	tag_name VARCHAR(50) NOT NULL,
	PRIMARY KEY (tag_id),
	UNIQUE (tag_name)
);
CREATE TABLE pet_tag (
	pet_id INTEGER NOT NULL,
	tag_id INTEGER NOT NULL,
	PRIMARY KEY (pet_id, tag_id),
	FOREIGN KEY(pet_id) REFERENCES petcategory (pet_id),
	FOREIGN KEY(tag_id) REFERENCES tag (tag_id)
);
-- downgrade: postgresql
DROP TABLE pet_tag;
DROP TABLE tag;
DROP TABLE handlerprofile;

-- A view rebuilt whenever this file changes.
DROP VIEW IF EXISTS item_names;
CREATE VIEW item_names AS SELECT name FROM items;

-- upgrade
CREATE TABLE tags (
    item_id INTEGER NOT NULL,
    tag VARCHAR(50) NOT NULL
);

-- rollback
DROP TABLE tags;

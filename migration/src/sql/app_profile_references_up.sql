-- app_profiles: the references to users and apps are checked once per statement, over the set
-- of rows it wrote, instead of by two foreign keys that check (and lock) the referenced row once
-- per written row. An operator's bulk create writes 100 000 rows in one transaction; the two
-- per-row checks took longer than the insert itself.
--
-- The guarantees are a foreign key's, for writers at the default READ COMMITTED isolation:
-- * every user_id and app_id written names an existing row (SQLSTATE 23503 otherwise);
-- * the referenced rows are locked FOR KEY SHARE until the writing transaction ends, so they
--   cannot be deleted under it;
-- * deleting a user or an app deletes its profiles (ON DELETE CASCADE);
-- * a profile's key (user_id, app_id) never changes.

ALTER TABLE app_profiles
    DROP CONSTRAINT app_profiles_user_id_fkey,
    DROP CONSTRAINT app_profiles_app_id_fkey;

CREATE FUNCTION app_profiles_check_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    PERFORM 1 FROM users WHERE id IN (SELECT user_id FROM new_rows) FOR KEY SHARE;
    SELECT n.user_id::text INTO missing FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = n.user_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('app_profiles.user_id %s names no user', missing),
            TABLE = 'app_profiles', CONSTRAINT = 'app_profiles_user_id_fkey';
    END IF;
    PERFORM 1 FROM apps WHERE id IN (SELECT app_id FROM new_rows) FOR KEY SHARE;
    SELECT n.app_id INTO missing FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM apps a WHERE a.id = n.app_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('app_profiles.app_id %s names no app', missing),
            TABLE = 'app_profiles', CONSTRAINT = 'app_profiles_app_id_fkey';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER app_profiles_check_references
    AFTER INSERT ON app_profiles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION app_profiles_check_references();

CREATE FUNCTION app_profiles_refuse_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE integrity_constraint_violation USING
        MESSAGE = 'an app profile''s user_id and app_id cannot change',
        TABLE = 'app_profiles';
END
$$;

CREATE TRIGGER app_profiles_refuse_key_change
    BEFORE UPDATE OF user_id, app_id ON app_profiles
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.app_id IS DISTINCT FROM NEW.app_id)
    EXECUTE FUNCTION app_profiles_refuse_key_change();

CREATE FUNCTION app_profiles_delete_of_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app_profiles WHERE user_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER app_profiles_delete_of_users
    AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION app_profiles_delete_of_users();

CREATE FUNCTION app_profiles_delete_of_apps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app_profiles WHERE app_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER app_profiles_delete_of_apps
    AFTER DELETE ON apps
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION app_profiles_delete_of_apps();

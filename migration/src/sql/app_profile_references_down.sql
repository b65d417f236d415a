-- Back to the two foreign keys of app_profiles (see app_profile_references_up.sql).
DROP TRIGGER app_profiles_delete_of_apps ON apps;
DROP FUNCTION app_profiles_delete_of_apps();
DROP TRIGGER app_profiles_delete_of_users ON users;
DROP FUNCTION app_profiles_delete_of_users();
DROP TRIGGER app_profiles_refuse_key_change ON app_profiles;
DROP FUNCTION app_profiles_refuse_key_change();
DROP TRIGGER app_profiles_check_references ON app_profiles;
DROP FUNCTION app_profiles_check_references();

ALTER TABLE app_profiles
    ADD CONSTRAINT app_profiles_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    ADD CONSTRAINT app_profiles_app_id_fkey
        FOREIGN KEY (app_id) REFERENCES apps (id) ON DELETE CASCADE;

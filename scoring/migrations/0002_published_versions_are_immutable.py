"""Database-level guard: rules of a published or archived version never change.

The model layer refuses too (scoring/models.py); this catches raw SQL, bulk
updates and anything else that bypasses save(). PostgreSQL only: SQLite is the
demo database.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION scoring_rule_guard() RETURNS trigger AS $$
DECLARE
    version_status text;
BEGIN
    SELECT status INTO version_status FROM scoring_ruleversion
     WHERE id = COALESCE(NEW.version_id, OLD.version_id);
    IF version_status IS DISTINCT FROM 'draft' AND version_status IS NOT NULL THEN
        RAISE EXCEPTION 'rules of a % rule version cannot be changed; clone it into a draft', version_status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.version_id <> OLD.version_id THEN
        SELECT status INTO version_status FROM scoring_ruleversion WHERE id = OLD.version_id;
        IF version_status <> 'draft' THEN
            RAISE EXCEPTION 'a rule cannot move out of a % rule version', version_status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER scoring_rule_guard BEFORE INSERT OR UPDATE OR DELETE ON scoring_rule
    FOR EACH ROW EXECUTE FUNCTION scoring_rule_guard();

CREATE OR REPLACE FUNCTION scoring_ruleversion_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'a % rule version cannot be deleted', OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (
        NEW.status = 'draft'
        OR (OLD.status = 'archived' AND NEW.status <> 'archived')
        OR NEW.number <> OLD.number OR NEW.name <> OLD.name
        OR NEW.fit_min <> OLD.fit_min OR NEW.engagement_min <> OLD.engagement_min
        OR NEW.total_min <> OLD.total_min OR NEW.hot_min <> OLD.hot_min
        OR NEW.grade_a_min <> OLD.grade_a_min OR NEW.grade_b_min <> OLD.grade_b_min
        OR NEW.grade_c_min <> OLD.grade_c_min
    ) THEN
        RAISE EXCEPTION 'a % rule version cannot be edited; clone it into a draft', OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER scoring_ruleversion_guard BEFORE UPDATE OR DELETE ON scoring_ruleversion
    FOR EACH ROW EXECUTE FUNCTION scoring_ruleversion_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS scoring_rule_guard ON scoring_rule;
DROP FUNCTION IF EXISTS scoring_rule_guard();
DROP TRIGGER IF EXISTS scoring_ruleversion_guard ON scoring_ruleversion;
DROP FUNCTION IF EXISTS scoring_ruleversion_guard();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]

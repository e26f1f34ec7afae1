"""Nothing is ever unroutable: every installation starts with a fallback queue.

Leads no rule matches go there; with no members yet they wait in it, listed
for managers, until someone joins the queue.
"""

from django.db import migrations


def create_fallback_queue(apps, schema_editor):
    Queue = apps.get_model("routing", "Queue")
    if not Queue.objects.filter(is_fallback=True).exists():
        Queue.objects.create(name="Fallback", strategy="round_robin", is_fallback=True)


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]
    operations = [migrations.RunPython(create_fallback_queue, migrations.RunPython.noop)]

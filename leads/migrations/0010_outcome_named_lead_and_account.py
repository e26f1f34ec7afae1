"""Outcomes keep the lead email and account domain the CRM named (issue 11).

An outcome naming a lead or an account Qualify does not know yet is kept,
unmatched, instead of being refused, and linked when that lead or account
appears: so it must be storable with neither foreign key, by what it named.
A closed deal may also say when its opportunity was opened (opened_at).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0009_event_unreadable_times_repair'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='outcome',
            name='outcome_has_lead_or_account',
        ),
        migrations.AddField(
            model_name='outcome',
            name='account_domain',
            field=models.CharField(blank=True, help_text="The account's domain as the CRM named it (normalized).", max_length=253, null=True),
        ),
        migrations.AddField(
            model_name='outcome',
            name='lead_email',
            field=models.CharField(blank=True, help_text="The lead's email as the CRM named it (normalized).", max_length=254, null=True),
        ),
        migrations.AddField(
            model_name='outcome',
            name='opened_at',
            field=models.DateTimeField(blank=True, help_text='A closed deal: when its opportunity was created (occurred_at: closed).', null=True),
        ),
        migrations.AddField(
            model_name='outcome',
            name='updated_at',
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddIndex(
            model_name='outcome',
            index=models.Index(condition=models.Q(('lead__isnull', True)), fields=['lead_email'], name='outcome_unmatched_lead_idx'),
        ),
        migrations.AddIndex(
            model_name='outcome',
            index=models.Index(condition=models.Q(('account__isnull', True)), fields=['account_domain'], name='outcome_unmatched_account_idx'),
        ),
        migrations.AddConstraint(
            model_name='outcome',
            constraint=models.CheckConstraint(condition=models.Q(('lead__isnull', False), ('account__isnull', False), ('lead_email__isnull', False), ('account_domain__isnull', False), _connector='OR'), name='outcome_names_lead_or_account', violation_error_message='Name a lead (by id or email) or an account (by id or domain).'),
        ),
    ]

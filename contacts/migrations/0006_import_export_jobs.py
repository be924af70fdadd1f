"""Contact imports and exports: their jobs, progress and files (contacts.imports, contacts.exports)."""

import config.ids
import django.db.models.deletion
import django.db.models.manager
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0004_search_text'),
        ('contacts', '0005_contact_anonymised_at'),
        ('tenants', '0005_tenant_audit_retention_days'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ExportJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.UUIDField(default=config.ids.uuid7, editable=False, unique=True, verbose_name='public id')),
                ('status', models.CharField(choices=[('mapping', 'Waiting for the columns'), ('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16, verbose_name='status')),
                ('file', models.FileField(blank=True, max_length=300, upload_to='contacts/transfers/%Y/%m/', verbose_name='file')),
                ('failure', models.CharField(blank=True, max_length=500, verbose_name='failure')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('filters', models.JSONField(blank=True, default=dict, verbose_name='filters')),
                ('row_count', models.PositiveIntegerField(default=0, verbose_name='contacts exported')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('tenant', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
            ],
            options={
                'ordering': ['-public_id'],
                'abstract': False,
                'base_manager_name': 'all_objects',
                'indexes': [models.Index(fields=['tenant', '-public_id'], name='contact_export_tenant_newest')],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('all_objects', django.db.models.manager.Manager()),
            ],
        ),
        migrations.CreateModel(
            name='ImportJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.UUIDField(default=config.ids.uuid7, editable=False, unique=True, verbose_name='public id')),
                ('status', models.CharField(choices=[('mapping', 'Waiting for the columns'), ('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16, verbose_name='status')),
                ('file', models.FileField(blank=True, max_length=300, upload_to='contacts/transfers/%Y/%m/', verbose_name='file')),
                ('failure', models.CharField(blank=True, max_length=500, verbose_name='failure')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('file_name', models.CharField(blank=True, max_length=255, verbose_name='file name')),
                ('dialect', models.JSONField(blank=True, default=dict, verbose_name='CSV dialect')),
                ('headers', models.JSONField(blank=True, default=list, verbose_name='columns')),
                ('mapping', models.JSONField(blank=True, default=list, verbose_name='column mapping')),
                ('total_rows', models.PositiveIntegerField(default=0, verbose_name='rows')),
                ('processed_rows', models.PositiveIntegerField(default=0, verbose_name='rows processed')),
                ('created_count', models.PositiveIntegerField(default=0, verbose_name='contacts created')),
                ('updated_count', models.PositiveIntegerField(default=0, verbose_name='contacts updated')),
                ('unchanged_count', models.PositiveIntegerField(default=0, verbose_name='rows already known')),
                ('rejected_count', models.PositiveIntegerField(default=0, verbose_name='rows rejected')),
                ('errors', models.JSONField(blank=True, default=list, verbose_name='errors')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('tenant', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
            ],
            options={
                'ordering': ['-public_id'],
                'abstract': False,
                'base_manager_name': 'all_objects',
                'indexes': [models.Index(fields=['tenant', '-public_id'], name='contact_import_tenant_newest')],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('all_objects', django.db.models.manager.Manager()),
            ],
        ),
    ]

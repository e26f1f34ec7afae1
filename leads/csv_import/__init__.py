"""CSV import of accounts and leads: the file reader (pure Python) and the django-import-export resources.

The import service (leads.services.imports.csv_import) ties them together; the
admin import page and the import_csv command both call it.
"""

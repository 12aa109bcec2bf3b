from django.db import migrations, models


def fill_period(apps, schema_editor):
    """Take each scheme's period kind from its newest version's YAML."""
    from pingji.errors import SchemeError
    from pingji.scheme.resolve import load_scheme

    Scheme = apps.get_model("schemes", "Scheme")
    for scheme in Scheme.objects.all():
        version = scheme.versions.order_by("-number").first()
        if version is None:
            continue
        try:
            rs = load_scheme(f"{scheme.code}.yaml", text=version.yaml)
        except SchemeError:
            continue
        scheme.period = rs.scheme.period
        scheme.save(update_fields=["period"])


class Migration(migrations.Migration):
    dependencies = [
        ("schemes", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="scheme",
            name="period",
            field=models.CharField(blank=True, max_length=10, verbose_name="评价期间"),
        ),
        migrations.RunPython(fill_period, migrations.RunPython.noop),
    ]

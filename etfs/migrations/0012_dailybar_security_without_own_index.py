"""DailyBar.security loses its own index: the unique (security, trade_date) index starts with
the security and serves every lookup by it; the second index only made each insert dearer
(bench/sync.py, docs/benchmarks.md)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("etfs", "0011_freshness_and_revisions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dailybar",
            name="security",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="bars",
                to="etfs.stockinfo",
            ),
        ),
    ]

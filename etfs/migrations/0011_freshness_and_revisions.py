"""Freshness and gaps kept on StockInfo (filled here for the bars already stored), and
BarRevision, the old values of bars the source changed."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def summarise_stored_bars(apps, schema_editor):
    from etfs.sync.freshness import refresh_bar_summary

    bars = apps.get_model("etfs", "DailyBar").objects.order_by()
    refresh_bar_summary(bars.values_list("security_id", flat=True).distinct())


class Migration(migrations.Migration):
    dependencies = [
        ("etfs", "0010_tradingday"),
    ]

    operations = [
        migrations.AddField(
            model_name="stockinfo",
            name="bar_count",
            field=models.PositiveIntegerField(db_index=True, default=0),
        ),
        migrations.AddField(
            model_name="stockinfo",
            name="days_behind",
            field=models.PositiveIntegerField(
                blank=True,
                verbose_name="behind",
                db_index=True,
                help_text="Trading days after the last bar up to the last final day, as of the "
                "last price run.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="stockinfo",
            name="first_bar_date",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="stockinfo",
            name="last_bar_date",
            field=models.DateField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="stockinfo",
            name="missing_days",
            field=models.PositiveIntegerField(
                verbose_name="gaps",
                db_index=True,
                default=0,
                help_text="Trading days between the first and the last bar without a bar "
                "(a suspension's days count too).",
            ),
        ),
        migrations.CreateModel(
            name="BarRevision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("trade_date", models.DateField()),
                ("revised_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("old_open", models.DecimalField(decimal_places=4, max_digits=14)),
                ("old_high", models.DecimalField(decimal_places=4, max_digits=14)),
                ("old_low", models.DecimalField(decimal_places=4, max_digits=14)),
                ("old_close", models.DecimalField(decimal_places=4, max_digits=14)),
                ("old_volume", models.BigIntegerField()),
                ("old_amount", models.DecimalField(decimal_places=3, max_digits=22)),
                ("new_open", models.DecimalField(decimal_places=4, max_digits=14)),
                ("new_high", models.DecimalField(decimal_places=4, max_digits=14)),
                ("new_low", models.DecimalField(decimal_places=4, max_digits=14)),
                ("new_close", models.DecimalField(decimal_places=4, max_digits=14)),
                ("new_volume", models.BigIntegerField()),
                ("new_amount", models.DecimalField(decimal_places=3, max_digits=22)),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="revisions",
                        to="etfs.syncrun",
                    ),
                ),
                (
                    "security",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="revisions",
                        to="etfs.stockinfo",
                    ),
                ),
            ],
            options={
                "ordering": ["-revised_at", "-id"],
                "indexes": [
                    models.Index(fields=["security", "trade_date"], name="barrevision_security_day")
                ],
            },
        ),
        migrations.RunPython(summarise_stored_bars, migrations.RunPython.noop),
    ]

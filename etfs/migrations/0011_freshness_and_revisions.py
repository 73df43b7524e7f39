"""Freshness and gaps kept on StockInfo (filled here for the bars already stored), and
BarRevision, the old values of bars the source changed."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest


def summarise_stored_bars(apps, schema_editor):
    """The freshness summary of the bars already stored, with this migration's models only (the
    app's refresh_bar_summary may change later; this must keep doing what it did)."""
    db = schema_editor.connection.alias
    stock_info = apps.get_model("etfs", "StockInfo").objects.using(db)
    bars = apps.get_model("etfs", "DailyBar").objects.using(db).filter(security=OuterRef("pk"))
    count = bars.order_by().values("security").annotate(n=Count("*")).values("n")
    stock_info.filter(Exists(bars)).update(
        bar_count=Subquery(count, output_field=models.IntegerField()),
        first_bar_date=Subquery(bars.order_by("trade_date").values("trade_date")[:1]),
        last_bar_date=Subquery(bars.order_by("-trade_date").values("trade_date")[:1]),
    )
    open_days = (
        apps.get_model("etfs", "TradingDay")
        .objects.using(db)
        .filter(
            is_open=True, date__gte=OuterRef("first_bar_date"), date__lte=OuterRef("last_bar_date")
        )
    )
    days = open_days.order_by().values("is_open").annotate(n=Count("*")).values("n")
    stock_info.filter(bar_count__gt=0).update(
        missing_days=Greatest(
            Coalesce(Subquery(days, output_field=models.IntegerField()), 0) - F("bar_count"), 0
        )
    )


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

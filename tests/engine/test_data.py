"""Loading common export layouts, validation errors naming row and column, gaps, resampling."""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.data import Bars, DataError, find_gaps, load, load_csv, resample
from engine.synthetic import generate_daily, generate_intraday

SAMPLES = Path(__file__).parents[2] / "data"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yahoo_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "y.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,10,11,9,10.5,10.4,100\n"
        "2024-01-03,10.5,12,10,11,10.9,200\n",
    )
    frame = load_csv(path)
    assert frame.columns == ["timestamp", "open", "high", "low", "close", "volume"]
    assert frame["close"].to_list() == [10.5, 11.0]
    assert str(frame["timestamp"].dtype) == "Datetime(time_unit='us', time_zone='UTC')"


def test_bare_layout_with_unnamed_date_column(tmp_path: Path) -> None:
    text = (
        ",Open,High,Low,Close,Volume\n"
        "2024-01-02 09:30:00,1,2,0.5,1.5,10\n"
        "2024-01-02 09:31:00,1.5,2,1,1.8,12\n"
    )
    path = write(tmp_path, "b.csv", text)
    assert load_csv(path)["open"].to_list() == [1.0, 1.5]


def test_binance_klines_in_milliseconds_and_microseconds(tmp_path: Path) -> None:
    rows_ms = (
        "1704067200000,42000,42100,41900,42050,12.5,1704067259999,525000,100,6,252000,0\n"
        "1704067260000,42050,42200,42000,42100,8,1704067319999,336000,80,4,168000,0\n"
    )
    rows_us = rows_ms.replace("1704067200000,", "1704067200000000,").replace(
        "1704067260000,", "1704067260000000,"
    )
    for text in (rows_ms, rows_us):
        frame = load_csv(write(tmp_path, "k.csv", text))
        assert frame["timestamp"].dt.minute().to_list() == [0, 1]
        assert frame["volume"].to_list() == [12.5, 8.0]


def test_metatrader_exports(tmp_path: Path) -> None:
    mt5 = (
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.01.02\t00:00:00\t1.1\t1.2\t1.0\t1.15\t500\t0\t2\n"
        "2024.01.02\t01:00:00\t1.15\t1.25\t1.1\t1.2\t400\t0\t2\n"
    )
    frame = load_csv(write(tmp_path, "mt5.csv", mt5))
    assert frame["volume"].to_list() == [500.0, 400.0]
    assert frame["timestamp"].dt.hour().to_list() == [0, 1]
    mt4 = "2024.01.02,00:00,1.1,1.2,1.0,1.15,500\n2024.01.02,01:00,1.15,1.25,1.1,1.2,400\n"
    assert load_csv(write(tmp_path, "mt4.csv", mt4))["close"].to_list() == [1.15, 1.2]


def test_parquet_and_several_symbols(tmp_path: Path) -> None:
    generate_daily(30, seed=1).write_parquet(tmp_path / "a.parquet")
    generate_daily(30, seed=2).write_parquet(tmp_path / "b.parquet")
    frame = pl.concat(
        load(tmp_path / name).with_columns(pl.lit(symbol).alias("symbol"))
        for symbol, name in (("AAA", "a.parquet"), ("BBB", "b.parquet"))
    )
    assert frame.height == 60  # both files read back whole
    bars = Bars.from_frame(frame, "BBB")
    assert bars.symbol == "BBB"
    assert bars.length == 30
    with pytest.raises(DataError, match="several symbols"):
        Bars.from_frame(frame)


@pytest.mark.parametrize(
    ("row_text", "row", "column", "message"),
    [
        ("2024-01-03,10,9,8,9.5,9.5,100", 1, "high", "high below open"),
        # The open (10) is under the high (10.4), so only the close (10.5) breaks it.
        ("2024-01-03,10,10.4,9,10.5,10.5,100", 1, "high", "high below close"),
        ("2024-01-03,10.3,11,10.2,10.1,10.1,100", 1, "low", "low above close"),
        ("2024-01-03,10,11,9,10.5,10.5,-5", 1, "volume", "negative volume"),
        ("2024-01-02,10,11,9,10.5,10.5,100", 1, "timestamp", "duplicate timestamp"),
        ("2024-01-01,10,11,9,10.5,10.5,100", 1, "timestamp", "not sorted"),
        ("2024-01-03,10,11,9,,10.5,100", 1, "close", "missing"),
    ],
)
def test_validation_errors_name_row_and_column(
    tmp_path: Path, row_text: str, row: int, column: str, message: str
) -> None:
    text = (
        f"Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,11,9,10.5,10.5,100\n{row_text}\n"
    )
    with pytest.raises(DataError, match=message) as caught:
        load_csv(write(tmp_path, "bad.csv", text))
    assert (caught.value.row, caught.value.column) == (row, column)
    assert f"row {row}, column '{column}'" in str(caught.value)


def test_negative_price_is_rejected_naming_the_first_bad_row_and_column(tmp_path: Path) -> None:
    # Row 0 is clean; row 1 has both its open and its low negative, and the open, checked
    # first, is the one named.
    text = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,10,11,9,10.5,10.5,100\n"
        "2024-01-03,-1,11,-2,10.5,10.5,100\n"
    )
    with pytest.raises(DataError, match="negative open -1") as caught:
        load_csv(write(tmp_path, "neg.csv", text))
    assert (caught.value.row, caught.value.column) == (1, "open")
    assert "row 1, column 'open'" in str(caught.value)


def test_negative_close_alone_is_named_by_its_row_and_column(tmp_path: Path) -> None:
    text = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,10,11,9,10.5,10.5,100\n"
        "2024-01-03,10,11,9,10.5,10.5,100\n"
        "2024-01-04,0,0,0,-0.5,-0.5,100\n"
    )
    with pytest.raises(DataError, match="negative close") as caught:
        load_csv(write(tmp_path, "neg.csv", text))
    assert (caught.value.row, caught.value.column) == (2, "close")
    assert "row 2, column 'close'" in str(caught.value)


def test_gaps_are_reported_but_weekends_in_daily_data_are_not() -> None:
    daily = generate_daily(40, seed=4)
    assert find_gaps(daily) == []
    holiday = daily.filter(pl.col("timestamp").dt.day() != 15)
    assert [g.missing_bars for g in find_gaps(holiday)] == [1]
    minutes = generate_intraday(120, seed=4)
    gaps = find_gaps(minutes.filter(~pl.int_range(pl.len()).is_between(50, 52)))
    assert [(g.after_row, g.missing_bars) for g in gaps] == [(49, 3)]


def test_resampling_minutes_to_hours_keeps_ohlcv_meaning() -> None:
    minutes = generate_intraday(180, seed=9)
    hours = resample(minutes, "1h")
    assert hours.height == 3
    first = minutes.head(60)
    assert hours.row(0) == (
        first["timestamp"][0],
        first["open"][0],
        first["high"].max(),
        first["low"].min(),
        first["close"][-1],
        first["volume"].sum(),
    )
    assert resample(hours, "1d").height == 1


def test_committed_samples_load_and_are_synthetic() -> None:
    daily = load(SAMPLES / "sample_daily.csv")
    minutes = load(SAMPLES / "sample_1m.csv")
    assert (daily.height, minutes.height) == (2_520, 7_200)
    assert "synthetic" in (SAMPLES / "README.md").read_text().lower()


def test_synthetic_generator_is_seeded_and_consistent() -> None:
    a, b = generate_daily(500, seed=1), generate_daily(500, seed=1)
    assert a.equals(b)
    assert not a.equals(generate_daily(500, seed=2))
    consistent = a.select(
        (pl.col("high") >= pl.max_horizontal("open", "close")).all(),
        (pl.col("low") <= pl.min_horizontal("open", "close")).all(),
    )
    assert consistent.row(0) == (True, True)
    assert Bars.from_frame(a).bars_per_year == pytest.approx(261, abs=1)
    log_returns = np.diff(np.log(generate_daily(5_000, seed=3)["close"].to_numpy()))
    # Regimes and jumps give fat tails: kurtosis well above the normal's 3.
    centred = (log_returns - log_returns.mean()) / log_returns.std()
    assert float(np.mean(centred**4)) > 3.5


def test_a_csv_polars_wrote_with_utc_offsets_loads(tmp_path: Path) -> None:
    """A timezone-aware frame written by polars (`2020-01-01T00:00:00.000000+0000`) reads
    back: the cell check once took every such timestamp for something that is not a date."""
    written = pl.DataFrame(
        {
            "timestamp": pl.datetime_range(
                datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 3, tzinfo=UTC), "1d", eager=True
            ),
            "open": [1.0, 2.0, 3.0],
            "high": [1.5, 2.5, 3.5],
            "low": [0.5, 1.5, 2.5],
            "close": [1.2, 2.2, 3.2],
            "volume": [10.0, 20.0, 30.0],
        }
    )
    path = tmp_path / "aware.csv"
    written.write_csv(path)
    assert "+0000" in path.read_text()
    loaded = load_csv(path)
    assert loaded["timestamp"].to_list() == written["timestamp"].to_list()
    assert loaded["close"].to_list() == [1.2, 2.2, 3.2]

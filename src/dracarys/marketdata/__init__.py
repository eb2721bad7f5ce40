"""Market data: OHLCV series quants upload (CSV or Parquet), validated cell by cell,
stored as Parquet per symbol and timeframe, private to their owner or shared.

What other parts of the platform may use: the HTTP routes (`marketdata.api.ROUTES`, for
the composition root) and, for backtests, a dataset's bars once the user may read it
(`readable_dataset`, `dataset_frame`)."""

from dracarys.marketdata.models import Dataset
from dracarys.marketdata.service import dataset_frame, readable_dataset

__all__ = ["Dataset", "dataset_frame", "readable_dataset"]

import numpy as np
import pyarrow as pa

from airpicture.core.plots import PlotBatch
from airpicture.core.schema import PLOT_SCHEMA, TRACK_SCHEMA
from airpicture.core.tracks import TrackStatus, TrackTable


def test_plot_batch_fills_unknowns_and_round_trips() -> None:
    b = PlotBatch.create(t=[0.0, 1.0], sensor_id=[1, 2], x=[1.0, 2.0], y=[3.0, 4.0],
                         var_x=1.0, var_y=2.0, cov_xy=0.0, icao24=[0, 0x4CA123])
    assert b.nacp.tolist() == [-1, -1] and np.isnan(b.alt_ft).all()
    table = b.to_arrow(truth_id=[5, -1])
    assert table.schema == PLOT_SCHEMA
    back = PlotBatch.from_arrow(table)
    assert back.icao24.tolist() == [0, 0x4CA123] and back.var_y.tolist() == [2.0, 2.0]
    both = PlotBatch.concat([b, back.take([1])])
    assert len(both) == 3 and both.sensor_id.tolist() == [1, 2, 2]


def test_track_table_sensor_mask_and_schema() -> None:
    tt = TrackTable.empty(sensor_ids=[1, 2, 3])
    assert len(tt) == 0
    n = 2
    tt = TrackTable(
        track_id=np.array([7, 8]), t=np.zeros(n), x=np.zeros(n), y=np.zeros(n),
        vx=np.zeros(n), vy=np.zeros(n),
        status=np.array([TrackStatus.TENTATIVE, TrackStatus.COASTING], np.int8),
        alt_ft=np.full(n, np.nan), vrate_fpm=np.full(n, np.nan), icao24=np.zeros(n, np.int64),
        callsign=np.array(["", "AFR12"], object), squawk=np.full(n, -1, np.int16),
        sigma_pos_m=np.ones(n), last_update_t=np.zeros(n), flags=np.zeros(n, np.uint16),
        sensor_ids=np.array([1, 2, 3], np.int32),
        sensor_last_t=np.array([[0.0, np.nan, np.nan], [np.nan, 3.0, 4.0]]),
    )
    assert tt.sensor_mask().tolist() == [1, 6]
    assert tt.confirmed.tolist() == [False, True]
    table = tt.to_arrow()
    assert table.schema == TRACK_SCHEMA
    assert isinstance(table, pa.Table) and table.column("callsign").to_pylist() == ["", "AFR12"]
    assert len(tt.take(tt.confirmed)) == 1

"""What people see: the size trend in `segw status` is a sparkline of recent successful runs."""
from segwarehouse.report import sparkline


def test_sparkline_scales_between_min_and_max():
    assert sparkline([]) == ""
    assert sparkline([5, 5, 5]) == "▄▄▄"
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert sparkline([100, 0]) == "█▁"

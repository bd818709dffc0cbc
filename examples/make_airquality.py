"""Write ``examples/data/airquality.csv``: R's ``airquality`` data set, daily air quality
measurements in New York, May to September 1973, with real missing values (37 of 153 days
lack ``Ozone``, 7 lack ``Solar.R``), for the imputation examples.

Columns: ``Ozone`` (mean ozone in parts per billion, 13:00 to 15:00, Roosevelt Island),
``Solar.R`` (solar radiation in Langleys, 08:00 to 12:00, Central Park), ``Wind`` (mean wind
speed in miles per hour, LaGuardia Airport), ``Temp`` (maximum daily temperature in degrees
Fahrenheit, LaGuardia Airport), ``Month`` (5 to 9) and ``Day`` (1 to 31). A missing value is
an empty cell.

Source: the New York State Department of Conservation (ozone) and the National Weather
Service (meteorology), as published in Chambers, Cleveland, Kleiner and Tukey, *Graphical
Methods for Data Analysis* (1983), and shipped with R in its ``datasets`` package (R is GPL;
the measurements are public records). The table comes from Debian's ``r-base-core`` package
(``apt-get install r-base-core``), whose ``Rscript`` prints it. Run:
``python examples/make_airquality.py``.
"""

from __future__ import annotations

import pathlib
import subprocess

OUT = pathlib.Path(__file__).resolve().parent / "data" / "airquality.csv"
R_CODE = 'write.csv(datasets::airquality, stdout(), row.names = FALSE, na = "", quote = FALSE)'


def main() -> None:
    table = subprocess.run(
        ["Rscript", "-e", R_CODE], check=True, capture_output=True, text=True
    ).stdout
    lines = table.splitlines()
    if lines[0] != "Ozone,Solar.R,Wind,Temp,Month,Day" or len(lines) != 154:
        raise RuntimeError(f"unexpected airquality table from R: {lines[:2]}, {len(lines)} lines")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(lines) - 1} rows)")


if __name__ == "__main__":
    main()

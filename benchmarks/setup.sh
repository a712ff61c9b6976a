#!/usr/bin/env bash
# Install the peer HRV libraries the benchmark times, side by side, with the pins that
# make them import together on Python 3.11 / numpy 2.4:
#   - neurokit2 0.2.13 needs pandas<3;
#   - pyhrv 0.5.0 imports peakutils through biosppy without declaring it; its plots need
#     matplotlib (the benchmark selects the Agg backend);
#   - hrv-analysis 1.0.6 declares pandas>=3.0.2, which conflicts with neurokit2, so it is
#     installed without dependencies and its real imports (astropy, nolds) are added by
#     hand; nolds 0.6.3 does not import on Python 3.11, so nolds==0.6.2.
# These pins belong here, not in the package's test extra.
set -euo pipefail
PY="${PYTHON:-python}"
"$PY" -m pip install --quiet "neurokit2==0.2.13" "pandas<3" "pyhrv==0.5.0" peakutils \
    "nolds==0.6.2" astropy spectrum biosppy matplotlib threadpoolctl
"$PY" -m pip install --quiet --no-deps "hrv-analysis==1.0.6"
"$PY" - <<'PY'
import importlib
for name in ("neurokit2", "pyhrv", "hrvanalysis", "nolds"):
    mod = importlib.import_module(name)
    print(f"{name} {getattr(mod, '__version__', '?')} imports")
PY

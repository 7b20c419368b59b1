"""``wardwatch report``: the inspection report, read from InfluxDB (``gather``), held as one
``model.Inspection``, and written as a workbook (``xlsx``), a web page (``html``, with ``svg``
charts) or a PDF (``pdf``, the web page printed by headless Chromium)."""

"""wardwatch collector: from MQTT to InfluxDB, with verdicts, and the operator CLI."""

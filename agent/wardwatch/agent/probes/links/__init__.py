"""Link quality: Smokeping-style probe rounds from this machine towards each hop of the path.

``icmp`` (echo over a datagram or raw socket; Windows' ICMP API in ``icmp_windows``), ``tcp``
(connect time, port checks), ``dns`` (a query's round trip) and ``http`` (response time and
status) each measure one target; ``rounds`` runs them in parallel under one deadline;
``netinfo`` finds the default gateway and the DNS servers (per OS); ``probe`` is the agent's
``link`` probe, running rounds in the background so a report never waits for one.
"""

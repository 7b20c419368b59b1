"""The fleet simulator: N real agents of simulated machines, driven by one loop in one thread.

``wardwatch simulate`` (``cli``), the benchmarks and the tests run ``loop.Simulator``: N
simulated machines (``fleet``), each with a real :class:`wardwatch.agent.runner.Agent`
(``members``) fed by a simulated host probe and machine reading (``readings``) instead of this
computer's, with its own MQTT identity (client id and username = its agent id), its ``online``
status and ``offline`` last will, and its messages committed to the real durable outbox before
they are published; it forgets a message only on the collector's end-to-end ack.

What is not the agent's own is the scheduling: ``Agent.run_forever`` owns a thread per agent,
which thousands of agents cannot afford. The loop drives the agent's seams instead:
``queue_inventory`` when a member starts, ``step`` when its report is due (``schedule``),
``flush`` for resends, ``say_offline`` at the end, and hears of acks through ``on_settled``;
``network`` serves every MQTT socket.

Measured on 2 cores. One shared SQLite file against one file per agent (400 agents): opening
an outbox costs 0.4 ms against 5 ms, a commit costs the same (0.45-0.65 ms, mostly the fsync of
``synchronous=FULL``), and the shared file needs two descriptors per agent instead of three; so
every agent's outbox is in ``<state-dir>/outbox.sqlite3``. Each agent costs ~150 KiB and three
descriptors (its socket, the file and its WAL); 5,000 agents connect in ~13 s. One loop offers
~950 reports/s with the agent's own ``synchronous=FULL`` (two fsyncs per report: the commit and
the settle) and ~1,400/s with ``--outbox-sync normal``; it is then bound by one core (paho's
packet handling, SQLite, msgspec), like the agent on a ward PC, 1,000 times over.
"""

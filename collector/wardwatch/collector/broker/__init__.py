"""The city's broker: its setup (``setup``), its certificates (``pki``), who may do what
(``dynsec``), and the agents' enrolment on the running broker (``control``, ``enrol``)."""

"""Test servers and harnesses (not shipped in the wheel): a scripted OpenAI-compatible server
(:mod:`.scripted_server`), a fake of the OpenAI and Anthropic batch APIs (:mod:`.batch_fake`) and
the kill -9 check of a batch run (:mod:`.batch_check`). Tests import them as ``support.*``
(``tests/`` is on pytest's path); benchmarks put ``tests/`` on ``sys.path`` first."""

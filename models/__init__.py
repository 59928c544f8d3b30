"""hamdb encoder models: the SSDH trainer, exporter, evaluator and their tests."""

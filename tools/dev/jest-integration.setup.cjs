jest.setTimeout(120_000); // integration tests start processes and real brokers

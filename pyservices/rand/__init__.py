"""RandomService: a server stream of random numbers."""

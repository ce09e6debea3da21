"""The offline GitHub: a synthetic universe and a loopback server that speaks GitHub's API and git."""

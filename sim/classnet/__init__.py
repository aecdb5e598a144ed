"""Class play over the network: the class server, its wire format and the remote session."""

"""Vocabularies, URI minting and the CSV → RDF upgrade step (namespaces, uris, csv2rdf, frequencies)."""

"""The demo shop, Assemble Prosjekt AS: its inventory (``assemble/privacy.yaml``) and data."""

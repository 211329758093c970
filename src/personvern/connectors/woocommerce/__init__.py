"""The ``woocommerce`` connector and the WooCommerce REST API v3 client other connectors share."""

from personvern.connectors.woocommerce.client import WooClient
from personvern.connectors.woocommerce.connector import WooCommerceConnector, WooCommerceSettings

__all__ = ["WooClient", "WooCommerceConnector", "WooCommerceSettings"]

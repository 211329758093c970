"""The ``mailchimp`` connector: a person in every audience of a Mailchimp account."""

from personvern.connectors.mailchimp.connector import MailchimpConnector, MailchimpSettings

__all__ = ["MailchimpConnector", "MailchimpSettings"]

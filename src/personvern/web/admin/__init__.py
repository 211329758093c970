"""The shop owner's pages: sign-in, the dashboard, admin users."""

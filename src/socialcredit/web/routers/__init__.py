"""The pages, one router per area: public site, login, subject portal, regulator."""

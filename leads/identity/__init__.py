"""Pure helpers for identity resolution (no Django imports): trait mapping and naming rules."""

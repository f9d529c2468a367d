"""Vision-token cost rules per target model, and the optional local optical encoder."""

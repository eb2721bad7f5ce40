// The unsubscribe confirmation page works without script: its button posts the form.

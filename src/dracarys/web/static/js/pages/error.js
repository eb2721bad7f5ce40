// An error page needs no script; the module exists so every page loads one the same way.

"""KYC documents checked by a verification vendor (Smile ID's document verification)
before a reviewer sees them: the adapter (`DocumentVerifier`, `smile_id.py`), the checks
it runs, its signed callbacks, the reconciliation of jobs whose callback never came, and
the rule that a clear result decides a document while anything else goes to reviewers."""

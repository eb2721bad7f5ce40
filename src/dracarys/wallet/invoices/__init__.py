"""Invoices and credit notes: gap-free numbers per year, VAT by the buyer's country, PDFs
and the monthly tax export."""

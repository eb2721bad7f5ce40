-- A member's paper portfolio, its calendar month (UTC, by when its equity was marked)
-- closed once: the profit or loss of that month is what `paper.month_closed` carried.
CREATE TABLE paper_month_closes (
    portfolio_id  uuid NOT NULL REFERENCES paper_portfolios (id),
    month         date NOT NULL CHECK (extract(day FROM month) = 1),
    user_id       uuid NOT NULL REFERENCES users (id),
    currency      char(3) NOT NULL,
    pnl_minor     bigint NOT NULL,
    closed_at     timestamptz NOT NULL,
    PRIMARY KEY (portfolio_id, month)
);
CREATE INDEX paper_month_closes_user ON paper_month_closes (user_id, month);

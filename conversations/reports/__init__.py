"""Reports: conversations opened and resolved, messages in and out, first response and resolution
times, by period, channel, team, agent and label, in the tenant's time zone.

`aggregates` keeps the figures as things happen (a listener on the domain events, one upsert a
batch) and rebuilds them from the history (a management command); `figures` reads them for the
page, the CSV and the API, in a fixed number of statements whatever the traffic. No request ever
reads the messages table."""

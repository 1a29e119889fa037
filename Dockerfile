# scenario-run in a container: no terminal needed, signals reach the runner.
FROM python:3.11-slim

# tini runs as PID 1: it forwards SIGTERM from `docker stop` to scenario-run
# and reaps children; a bare Python PID 1 would get no default signal handling.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY runner ./runner
RUN pip install --no-cache-dir .

COPY scenarios ./scenarios
COPY sample_data ./sample_data
COPY schemas ./schemas

RUN useradd --create-home --uid 10001 replay
USER replay

# The ready scenarios bind metrics to METRICS_HOST: inside a container that
# is every interface, so Prometheus on the compose network can scrape them.
ENV PYTHONUNBUFFERED=1 METRICS_HOST=0.0.0.0
EXPOSE 8001

# What `docker stop` sends: scenario-run stops taking batches, flushes what is
# in flight, prints its summary and exits 130.
STOPSIGNAL SIGTERM

# Exec form: tini is PID 1 and scenario-run its direct child, no shell between.
ENTRYPOINT ["/usr/bin/tini", "--", "scenario-run"]
CMD ["scenarios/default.yaml"]

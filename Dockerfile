FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY partnerships ./partnerships
COPY clusters ./clusters
COPY grants ./grants
COPY evaluation ./evaluation
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --create-home portal && chown -R portal /app
USER portal
EXPOSE 8000
# gunicorn.conf.py: threaded workers, one process per core (WEB_CONCURRENCY, GUNICORN_THREADS)
CMD ["gunicorn", "-c", "gunicorn.conf.py", "portal.wsgi:application"]

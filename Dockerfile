# The image of an Ostiary node (see docker-compose.yml): the package and its pinned dependencies.
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ostiary ./ostiary
RUN pip install --no-cache-dir . && useradd --system --home /data ostiary && mkdir -p /data && chown ostiary /data
USER ostiary
ENV OSTIARY_DATA_DIR=/data
EXPOSE 4566
STOPSIGNAL SIGTERM
CMD ["ostiary", "serve"]

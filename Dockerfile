FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY evidence_service ./evidence_service
COPY chain ./chain
COPY signing ./signing
COPY storage ./storage
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["evidence", "serve", "--host", "0.0.0.0", "--port", "8000"]

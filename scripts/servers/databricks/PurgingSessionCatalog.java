package jetbase;

import org.apache.iceberg.spark.SparkSessionCatalog;
import org.apache.iceberg.spark.source.SparkTable;
import org.apache.spark.sql.catalyst.analysis.NoSuchTableException;
import org.apache.spark.sql.connector.catalog.CatalogPlugin;
import org.apache.spark.sql.connector.catalog.FunctionCatalog;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.SupportsNamespaces;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCatalog;
import org.apache.spark.sql.connector.catalog.ViewCatalog;

/**
 * Iceberg's session catalog (spark_catalog of scripts/servers/databricks.sh) with a DROP TABLE
 * that deletes the table's data, as a Databricks managed table's DROP does, so that a migration
 * rolled back with DROP TABLE can be applied again with CREATE TABLE of the same name.
 *
 * Iceberg's SparkSessionCatalog hands every DROP TABLE to its Hive-backed Iceberg catalog first,
 * which drops any metastore table, Iceberg or not, keeping its files: a non-Iceberg managed table
 * (USING parquet, ...) created again then fails with LOCATION_ALREADY_EXISTS, and an Iceberg
 * table leaves its data and metadata files behind. Here an Iceberg table is purged (its data,
 * manifests and metadata files deleted), and any other table goes to Spark's own session catalog,
 * which deletes a managed table's folder.
 */
public class PurgingSessionCatalog<T extends TableCatalog & FunctionCatalog & SupportsNamespaces & ViewCatalog>
    extends SparkSessionCatalog<T> {
  private volatile TableCatalog sparkCatalog;

  @Override
  public void setDelegateCatalog(CatalogPlugin delegate) {
    super.setDelegateCatalog(delegate);
    this.sparkCatalog = (TableCatalog) delegate;
  }

  @Override
  public boolean dropTable(Identifier ident) {
    Table table;
    try {
      table = loadTable(ident);
    } catch (NoSuchTableException e) {
      return false;
    }
    if (table instanceof SparkTable) {
      return purgeTable(ident);
    }
    return sparkCatalog.dropTable(ident);
  }
}
